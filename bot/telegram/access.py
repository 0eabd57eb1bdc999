"""Who may use the bot (allow lists, admins) and who has already been told "no"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Empty allow lists admit everyone.

    With lists set, an update is admitted when its user is allowed, or its chat is allowed (a
    group on ALLOWED_CHAT_IDS admits all its members), or its user is an admin.
    """

    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()

    @classmethod
    def build(
        cls, users: Iterable[int] = (), chats: Iterable[int] = (), admins: Iterable[int] = ()
    ) -> AccessPolicy:
        return cls(frozenset(users), frozenset(chats), frozenset(admins))

    @property
    def open(self) -> bool:
        return not self.allowed_users and not self.allowed_chats

    def listed_admin(self, user_id: int | None) -> bool:
        """On ADMIN_USER_IDS: half of the rule (`is_admin`), for what must not read the
        database (the intake, before the gate)."""
        return user_id is not None and user_id in self.admins

    def is_admin(self, user_id: int | None, *, stored_admin: bool) -> bool:
        """The one rule of who is an admin: on ADMIN_USER_IDS, or given the admin role stored
        for the user (`stored_admin`). Decided once per update by the gate (admission.py) and
        carried on its `Principal`; a turn resumed without an update (after a restart, a
        press whose card expired) is judged again by this same rule."""
        return self.listed_admin(user_id) or (user_id is not None and stored_admin)

    def admits(self, user_id: int | None, chat_id: int | None) -> bool:
        if self.open or self.listed_admin(user_id):
            return True
        if user_id is not None and user_id in self.allowed_users:
            return True
        return chat_id is not None and chat_id in self.allowed_chats


@dataclass(frozen=True, slots=True)
class Access:
    """Who may write, as configured: ALLOWED_USER_IDS, ALLOWED_CHAT_IDS, ADMIN_USER_IDS,
    ALLOWED_CHAT_MEMBERS_OF (a chat whose members are admitted; 0: none) and how many seconds
    a membership is trusted before it is asked again (ALLOWED_CHAT_MEMBERS_TTL), and the
    support desk's chat (operators write there whatever the lists say; 0: no desk). The
    decision is the gate's (admission.py)."""

    users: Iterable[int] = ()
    chats: Iterable[int] = ()
    admins: Iterable[int] = ()
    members_of: int = 0
    support_chat_id: int = 0
    members_ttl: float = 300.0

    def policies(self) -> tuple[AccessPolicy, AccessPolicy]:
        """Whom the intake may store before the gate decides (and who is an admin), and the
        lists as configured."""
        users, chats, admins = list(self.users), list(self.chats), list(self.admins)
        lists = AccessPolicy.build(users, chats, admins)
        if self.members_of:  # the gate asks the membership cache; the lists admit too
            return AccessPolicy.build((), (), admins), lists
        if self.support_chat_id and not lists.open:  # operators write in the support chat
            return AccessPolicy.build(users, [*chats, self.support_chat_id], admins), lists
        return lists, lists


@dataclass(slots=True)
class RefusalMemory:
    """Outsiders get one polite refusal per process, then silence.

    Kept in memory on purpose: an outsider must cost nothing, not even a database row. A restart
    may repeat the refusal once; `limit` bounds the memory against a flood of strangers.
    """

    limit: int = 100_000
    _seen: set[object] = field(default_factory=set)

    def first_time(self, key: object) -> bool:
        """True the first time `key` (a user, a chat, or a member of a group) is seen."""
        if key in self._seen:
            return False
        if len(self._seen) >= self.limit:
            self._seen.clear()
        self._seen.add(key)
        return True
