"""Console pages: the overview, a queue's page, a topic's page, access keys.

Each page's module holds its views and, for pages with live regions, `live_fragments(user, ...)`,
which console.live calls to push the regions that changed.
"""
