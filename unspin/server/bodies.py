"""Request bodies -> inputs: JSON for programs, multipart forms for browsers and uploads.

Uploads are read from the request (at most ``settings.max_input_bytes`` of each) and never
from a path; form fields left empty by a browser count as not given.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from ..config import Settings, too_many_bytes
from ..errors import UnspinError
from .errors import UnsupportedMediaError
from .inputs import FileInput, Input, TextInput, URLInput, media_type, safe_filename
from .schemas import AnalyzeIn, SourceIn

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class MissingInputError(UnspinError):
    """A form or request that names no article at all (400: a malformed request)."""

    http_status = 400


def source_input(source: SourceIn) -> Input:
    if source.url is not None:
        return URLInput(source.url)
    return TextInput(source.text or "")


async def read_form(request: Request, settings: Settings, *, max_files: int = 1) -> FormData:
    """The form, parsed with limits; a browser's text field may be as long as the body."""
    return await request.form(
        max_files=max_files, max_fields=64, max_part_size=settings.server_max_body_bytes
    )


async def file_input(value: UploadFile, settings: Settings) -> FileInput | None:
    """An uploaded file, or None for the empty part a browser sends when none was chosen."""
    name = safe_filename(value.filename)
    cap = settings.max_input_bytes
    data = await value.read(cap + 1)
    if not data and not value.filename:
        return None
    if len(data) > cap:
        raise too_many_bytes(name, cap)
    return FileInput(data=data, filename=name, content_type=value.content_type or "")


async def form_input(
    form: FormData, settings: Settings, suffix: str = "", label: str = ""
) -> Input | None:
    """The one input of a form (fields ``text``, ``url``, ``file`` + ``suffix``), or None
    when all are empty; MissingInputError when several are given."""
    given: list[Input] = []
    text = form.get(f"text{suffix}")
    if isinstance(text, str) and text.strip():
        given.append(TextInput(text, name=f"{label}The text" if label else "The text"))
    url = form.get(f"url{suffix}")
    if isinstance(url, str) and url.strip():
        given.append(URLInput(url.strip()))
    upload = form.get(f"file{suffix}")
    if isinstance(upload, UploadFile):
        found = await file_input(upload, settings)
        if found is not None:
            given.append(found)
    elif isinstance(upload, str) and upload:
        raise MissingInputError("The 'file' field must be a file upload, not a text field.")
    if len(given) > 1:
        raise MissingInputError(
            f"{label}Give the article one way only: pasted text, a file, or a URL."
        )
    return given[0] if given else None


async def analyze_input(request: Request, settings: Settings) -> Input:
    """The input of ``POST /api/analyze``: a JSON body or a multipart form."""
    ctype = media_type(request.headers.get("content-type"))
    if ctype == "application/json" or ctype.endswith("+json"):
        raw = await request.body()
        try:
            return source_input(AnalyzeIn.model_validate_json(raw))
        except ValidationError as err:
            raise RequestValidationError(err.errors(include_url=False)) from None
    if ctype in FORM_TYPES:
        form = await read_form(request, settings)
        try:
            found = await form_input(form, settings)
        finally:
            await form.close()
        if found is None:
            raise MissingInputError(
                "The form has no article: send a 'file' (or a 'text' or 'url' field)."
            )
        return found
    raise UnsupportedMediaError(
        'Send the article as JSON ({"text": ...} or {"url": ...}, with Content-Type: '
        "application/json) or as a multipart/form-data upload with a 'file' field."
    )
