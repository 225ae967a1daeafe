"""Which view module renders each live page's regions."""

from django.utils.module_loading import import_string

PAGES = {
    "overview": "console.views.overview.live_fragments",
    "queue": "console.views.queues.live_fragments",
    "topic": "console.views.topics.live_fragments",
}


class UnknownPage(LookupError):
    pass


def fragments_function(page):
    path = PAGES.get(page)
    if path is None:
        raise UnknownPage(page)
    try:
        return import_string(path)
    except ImportError:
        raise UnknownPage(page) from None
