"""The data server's web service: browse and inspect each project's products, with access
per project (``lmtflow web serve``; README "Web service", DESIGN.md section 8).

Modules, one job each:

* ``settings``   web.yaml (schema ``web_schema.yaml``) and the session secret
* ``db``         SQLite connection (WAL) and the append-only migrations
* ``passwords``  scrypt hashes; ``accounts``: users, projects, memberships, roles, audit
* ``security``   security headers, CSRF + Origin check of every POST, login throttling
* ``access``     the session's user and ``project_access``, the dependency of every
                 ``/p/{pid}`` route (a test walks the routes for it)
* ``files``      the one route to work-tree files: path checks and streamed Range responses
* ``catalog``    what a project holds (lmtflow.layout patterns), QA numbers cached in SQLite
* ``science``    spectra, windows, cube planes and pixel spectra for the interactive views
* ``routes_auth``, ``routes_pages``, ``routes_data``: the routers; ``templating``: Jinja2
* ``app``        ``create_app(settings)``; ``cli``: ``lmtflow web serve|user|project|demo``

Re-reductions from the browser (jobs, runner, queue) add a migration (a ``jobs`` table), a
``routes_jobs`` router whose POST routes depend on ``security.require_csrf`` and whose
``/p/{pid}`` routes on ``access.project_access`` (checking ``Project.role`` for "runner"), and
a ``runner`` module started as ``python -m lmtflow.web.runner JOB_ID``.
"""
