"""The dashboard: server-rendered pages (Jinja2) with their scripts and styles served from `static/`.

Pages read through the same repositories as the JSON API; everything a page changes goes through the JSON
API from `static/js/app.js`, with the session cookie and the CSRF token, so a browser and a script obey
the same validation and the same owner scoping.
"""
