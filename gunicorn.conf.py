"""gunicorn settings for serving the app: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Environment variables set the values that differ between machines. Every setting here can
also be given on the command line, which wins over this file.
"""

import os

# Address to listen on. Behind a reverse proxy on the same machine, keep it on loopback.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:" + os.environ.get("PORT", "8000"))

# Sync workers, one request at a time each. A common start is 2 to 4 per CPU core; each
# worker has its own database connection pool.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"

# Seconds a worker may spend on one request before the master restarts it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Seconds that workers get to finish their requests after SIGTERM.
graceful_timeout = 20
# Seconds to hold an idle keep-alive connection from the proxy open.
keepalive = 5

# Restart each worker after about this many requests, to bound slow memory growth.
max_requests = 10_000
max_requests_jitter = 1_000

# The access log is off unless GUNICORN_ACCESS_LOG names a file or "-" (standard output),
# because each line carries a full webhook URL, which the app's own logs shorten.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# gunicorn trusts X-Forwarded-Proto only from these addresses. The app itself trusts
# X-Forwarded-For only when TRUSTED_PROXY_COUNT is set (see the Deploying page).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
