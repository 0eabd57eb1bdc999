"""/report and /stats quote customers' words: an admin gets the desk's report only in the
support chat or in a private chat with the bot; in any other group the admin is told where to
ask, and nothing of the report is posted there."""

from __future__ import annotations

import pytest

from bot import App
from bot.testing import BotTester, ServiceModel

pytestmark = [pytest.mark.timeout(120)]

SUPPORT = -1001234567890
ADMIN = 4242


async def test_the_report_is_refused_in_an_ordinary_group_with_where_to_ask() -> None:
    model = ServiceModel()
    settings = {"SUPPORT_CHAT_ID": str(SUPPORT), "ADMIN_USER_IDS": str(ADMIN),
                "DESK_INSIGHTS": "off", "ALLOWED_CHAT_IDS": ""}
    async with BotTester(App(env_file=None), model=model, settings=settings) as tester:
        admin = tester.user("Lead", id=ADMIN)
        team = tester.group("Sales team")
        for command in ("/report 3", "/stats"):
            reply = await team.says(admin, command)
            assert "Support desk" not in reply.text
            assert "only in the support chat or in your private chat with me" in reply.text
        # /stats in the group still gives the usage totals, which quote nobody.
        assert "tokens" in reply.text.lower()
        # In the admin's private chat the report is shown.
        private = await admin.says("/report 3")
        assert private.text.startswith("Support desk")
