"""The agent inbox: a small web app where human agents take over handed-off conversations.

Enable it in ``credentials.yml`` as ``bot.inbox.channel.InboxInput``; it is served under
``/webhooks/inbox/``. See ``docs/inbox.md``.
"""
