"""Texts of /kb, in English and Russian (added to bot.telegram.texts): the knowledge base's
status, its syncs and its usage."""

from __future__ import annotations

from bot.plugin.texts import register_texts

KB_TEXTS: dict[str, dict[str, str]] = {
    "kb_off": {
        "en": "The knowledge base is off (set KB_PATH to a folder of documents).",
        "ru": "База знаний выключена (укажите папку с документами в KB_PATH).",
    },
    "kb_status": {
        "en": "Knowledge base ({mode}): {documents} {documents|document|documents}, "
        "{passages} {passages|passage|passages}, "
        "{vectors} searchable.\nFolders: {roots}\nEmbeddings: {versions}\n"
        "Last sync: {last}{syncing}",
        "ru": "База знаний ({mode}): документов {documents}, фрагментов {passages}, "
        "в поиске {vectors}.\nПапки: {roots}\nЭмбеддинги: {versions}\n"
        "Последняя синхронизация: {last}{syncing}",
    },
    "kb_last_run": {
        "en": "{status} at {finished} UTC: {files} {files|file|files}, {embedded} embedded, "
        "{reused} reused, "
        "{removed} removed",
        "ru": "{status}, {finished} UTC: файлов {files}, новых эмбеддингов {embedded}, "
        "из кэша {reused}, удалено {removed}",
    },
    "kb_never_synced": {"en": "never", "ru": "ещё не было"},
    "kb_syncing": {"en": "\nA sync is running now.", "ru": "\nСейчас идёт синхронизация."},
    "kb_failures": {"en": "\nNot indexed:\n{items}", "ru": "\nНе проиндексированы:\n{items}"},
    "kb_sync_started": {
        "en": "Sync started; I will report when it is done.",
        "ru": "Синхронизация запущена; сообщу, когда закончится.",
    },
    "kb_sync_done": {
        "en": "Sync done in {seconds:.1f} s: {files} {files|file|files} ({indexed} indexed, "
        "{removed} removed), {embedded} embedded, {reused} reused, {skipped} skipped.",
        "ru": "Синхронизация за {seconds:.1f} с: файлов {files} (проиндексировано {indexed}, "
        "удалено {removed}), новых эмбеддингов {embedded}, из кэша {reused}, пропущено {skipped}.",
    },
    "kb_sync_failed": {
        "en": "The sync failed; the index stays as it was. The log has the details.",
        "ru": "Синхронизация не удалась; индекс остался прежним. Подробности в логе.",
    },
    "kb_sync_kept": {
        "en": "\n⚠️ {kept} of the {total} indexed documents are gone from KB_PATH (an empty or "
        "unmounted folder?): they stay indexed. If they were removed on purpose, run "
        "`python -m bot kb sync --allow-removal`.",
        "ru": "\n⚠️ {kept} из {total} проиндексированных документов нет в KB_PATH (папка пуста "
        "или не смонтирована?): они остаются в индексе. Если их удалили намеренно, "
        "выполните `python -m bot kb sync --allow-removal`.",
    },
    "kb_usage": {
        "en": "/kb - what is indexed; /kb sync - index new and changed documents now",
        "ru": "/kb - что проиндексировано; /kb sync - проиндексировать изменения сейчас",
    },
}

register_texts(KB_TEXTS)
