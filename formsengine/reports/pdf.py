"""HTML to PDF with WeasyPrint, safely.

* Resources: the URL fetcher serves only the files in this package's ``static`` folder,
  addressed as ``STATIC_URL + name``. Every other URL (``http:``, ``https:``, ``file:``,
  ``data:``, FTP, a path outside the folder) is refused before any request is made or any
  file is opened, so a report can neither reach the network nor attach a local file.
* Metadata: the document title is the generic title given (never a name or a reference); no
  author, subject or keywords are written.
* Tagged PDF (PDF/UA-1) where WeasyPrint can make one.
"""

from __future__ import annotations

import logging
import mimetypes
from importlib import resources

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .names import STATIC_URL, opaque_filename

__all__ = ["STATIC_URL", "StaticOnlyFetcher", "html_to_pdf", "opaque_filename"]

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True, "custom_metadata": False}

log = logging.getLogger(__name__)


def static_names() -> set[str]:
    folder = resources.files(__package__).joinpath("static")
    return {entry.name for entry in folder.iterdir() if entry.is_file()}


class StaticOnlyFetcher(URLFetcher):
    """Serves the package's own static files; refuses everything else, recording it."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self.refused: list[str] = []
        self.served: list[str] = []
        self._names = static_names()

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith(STATIC_URL):
            name = url[len(STATIC_URL):].split("?", 1)[0].split("#", 1)[0]
            if name in self._names:
                data = resources.files(__package__).joinpath("static", name).read_bytes()
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self.served.append(name)
                return URLFetcherResponse(url, data, {"Content-Type": kind})
        self.refused.append(url[:200])
        raise ValueError("only the report's own static files can be used")


def html_to_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render ``html`` (a whole document with a generic ``<title>``) to PDF bytes."""
    fetcher = fetcher or StaticOnlyFetcher()
    document = HTML(string=html, base_url=STATIC_URL, url_fetcher=fetcher)
    pdf = document.write_pdf(**PDF_OPTIONS)
    if fetcher.refused:
        log.warning("report rendering refused %d resource(s)", len(fetcher.refused))
    return pdf

