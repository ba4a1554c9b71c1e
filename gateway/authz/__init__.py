"""Every authorisation decision of the gateway, one module per area.

Roles (DESIGN.md): `office` sees and does everything and manages accounts;
`committee` reads everything and writes nothing but work plans and their
tasks; `liaison` reads and writes the alumni, events, plans, visits and
projects of their own department; `alumnus` (an account the office made for
an alumnus record) uses no staff route: it reads published events, signs up
and cancels for itself only, sees only its own registrations, and submits
suggestions, service requests and visit requests as itself.

What a route's roles say is enforced by the route record (gateway/http.py) before the
handler runs; the modules here decide only what depends on the record at hand:

- base.py: the roles, `require_role`, acting as oneself, department scoping, and who
  may see contacts;
- registry.py: alumni (search scope, read, create, update, personal fields);
- events.py: events, registrations, check-in tokens, activity reports;
- visits.py, plans.py, feedback.py (suggestions and service requests), projects.py.
- community_archive.py: the distinguished-alumni archive (its steward), stories, news.

Personal fields (phone, e-mail, WeChat; the contacts of visits, projects and
rosters) are shown unmasked only to the office and the liaison of the
alumnus's (or the record's) own department, and to an alumnus for what they
gave themselves. A record outside the caller's scope answers 404, so its
existence does not leak; an action the role may never take, on a record it
may see, answers 403.
"""
