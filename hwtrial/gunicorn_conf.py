"""gunicorn settings for hwtrial: ``gunicorn -c python:hwtrial.gunicorn_conf 'hwtrial:create_app()'``.

The access log omits query strings and the Referer, which could carry participant links.
"""

import os

bind = os.environ.get("HWTRIAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HWTRIAL_WORKERS", "4"))
# Path without query string (%(U)s), never the Referer.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
accesslog = os.environ.get("HWTRIAL_ACCESS_LOG", "-")
timeout = 60
graceful_timeout = 30


def post_fork(server, worker):
    from hwtrial.redaction import install_redaction

    install_redaction()
