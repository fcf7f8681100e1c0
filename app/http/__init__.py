"""What the two faces (`app.web` pages, `app.api` JSON) share about HTTP.

Dependencies (the request's unit of work, settings, today), query-parameter
parsing for the reports, and the one handler that turns domain errors into
an HTML page or problem+json. Neither face imports the other; both import this.
"""
