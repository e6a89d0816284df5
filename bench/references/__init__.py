"""Reference apps for `python -m bench`, outside the app on purpose.

They are served exactly like the app (gunicorn.conf.py through WSGI_APP, behind the same nginx
policy), so the app's own per-request cost shows as the distance to them:
- bare_flask: a Flask app answering a constant 302, the floor for any Flask redirect;
- naive: a shortener doing one pipelined Redis round trip (GET + INCR) per redirect.
Each also answers /readyz, which the local stack waits for before it starts nginx.
"""
