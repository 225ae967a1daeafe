"""Live console updates: each open page gets the regions that changed, over WebSockets or SSE.

A page names itself (`data-live-page`); its view module's `live_fragments(user, **args)` gives the
current HTML of every live region by DOM id. The stream renders them about once a second, sends
only those that changed, and the browser swaps them in place (htmx out-of-band swaps). Polling a
per-process snapshot works with any channel layer and sees changes made by every process (web,
worker, another web process) through the database, so it needs no event plumbing to be correct.
"""
