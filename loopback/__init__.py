"""Real services and local API stand-ins started on loopback, for tests and benchmarks.

What is here: the Rasa and action servers as processes (:mod:`loopback.rasa_server`), a
redis-server (:mod:`loopback.redis_server`), SMTP/IMAP servers and the mails clients send
them (:mod:`loopback.mail_servers`, :mod:`loopback.mail_samples`), local Slack and
Telegram APIs (:mod:`loopback.fake_slack`, :mod:`loopback.fake_telegram`), a web chat
client (:mod:`loopback.webchat_client`), and the drivers that ``bench/`` and the
integration tests share (:mod:`loopback.soak_driver`, :mod:`loopback.lock_contention`).

Why a package of its own: ``bench/`` and ``tests/`` both start these, and neither should
import the other. A benchmark that imports the test tree pulls in test modules, pytest
and whatever those modules import; a test that imports a benchmark ties the suite to a
script. So these sit beside both and import neither (``tests/test_loopback.py`` checks
that ``bench/`` and this package never import ``tests``). Test-only fakes that several
test packages share stay in ``tests/support/``. The product packages (``common``,
``bot``, ``channels``, ``actions``, ``training``) never import this one, and it is not
installed with them (``pyproject.toml``'s ``packages.find`` leaves it out): tests and
benchmarks run from the repository root, with the root on ``PYTHONPATH``.
"""
