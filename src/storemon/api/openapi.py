"""The OpenAPI schema as the service really answers, with links between
operations.

FastAPI documents a validation failure as its own ``HTTPValidationError``;
this service answers every error as ``{"error": "..."}`` (see ``errors``),
so those 422s are rewritten to ``ErrorBody``; every route that needs the
API key documents its 401 and the rate limit's 429, and every route taking
a body its 400 for one that cannot be read. The links say which answer
feeds which request (a trigger's ``report_id`` to its download, a store
search's first ``store_id`` to that store's time line): client generators
and stateful testers follow them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
_VALIDATION = "#/components/schemas/HTTPValidationError"

#: Where each link's value is found in the source's answer.
REPORT_ID = "$response.body#/report_id"
FIRST_REPORT_ID = "$response.body#/items/0/report_id"
INGEST_ID = "$response.body#/ingest_id"
STORE_ID = "$response.body#/store_id"
FIRST_STORE_ID = "$response.body#/items/0/store_id"

#: What a report id leads to: (link name, method, path, parameter).
_REPORT_TARGETS = [
    ("GetReport", "get", "/get_report/{report_id}", "path.report_id"),
    ("GetReportByQuery", "get", "/get_report", "query.report_id"),
    ("ReportInfo", "get", "/reports/{report_id}", "path.report_id"),
    ("Download", "get", "/reports/{report_id}/download", "path.report_id"),
    ("DownloadByQuery", "get", "/download_report", "query.report_id"),
    ("Rows", "get", "/reports/{report_id}/rows", "path.report_id"),
    ("Summary", "get", "/reports/{report_id}/summary", "path.report_id"),
    ("Delete", "delete", "/reports/{report_id}", "path.report_id"),
]
_STORE_TARGETS = [
    ("StoreSummary", "get", "/store_summary/{store_id}", "path.store_id"),
    ("Timeline", "get", "/stores/{store_id}/timeline", "path.store_id"),
    ("StoreOutages", "get", "/stores/{store_id}/outages", "path.store_id"),
    ("TriggerStoreReport", "post", "/trigger_single_store_report/{store_id}", "path.store_id"),
    ("DeletePolls", "delete", "/stores/{store_id}/polls", "path.store_id"),
]
_INGEST_TARGETS = [
    ("IngestInfo", "get", "/ingests/{ingest_id}", "path.ingest_id"),
    ("Rejects", "get", "/ingests/{ingest_id}/rejects", "path.ingest_id"),
]

#: (source method, source path, its answer's value, the targets it feeds).
LINKS: list[tuple[str, str, str, list[tuple[str, str, str, str]]]] = [
    ("post", "/trigger_report", REPORT_ID, _REPORT_TARGETS),
    ("post", "/trigger_single_store_report/{store_id}", REPORT_ID, _REPORT_TARGETS),
    ("get", "/reports", FIRST_REPORT_ID, _REPORT_TARGETS),
    ("get", "/reports/{report_id}", REPORT_ID, _REPORT_TARGETS),
    ("get", "/stores", FIRST_STORE_ID, _STORE_TARGETS),
    ("get", "/store_summary/{store_id}", STORE_ID, _STORE_TARGETS),
    ("post", "/ingest/{feed}", INGEST_ID, _INGEST_TARGETS),
    ("post", "/polls", INGEST_ID, _INGEST_TARGETS),
    ("delete", "/stores/{store_id}/polls", INGEST_ID, _INGEST_TARGETS),
]


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the schema described above."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # cached by FastAPI in app.openapi_schema
            _error_bodies(schema)
            _keyed_and_body_answers(schema)
            _links(schema)
            _unused_validation_schemas(schema)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in schema["paths"].values() for op in item.values()]


def _error_bodies(schema: dict[str, Any]) -> None:
    for operation in _operations(schema):
        answer = operation["responses"].get("422")
        if answer is None:
            continue
        body = answer.get("content", {}).get("application/json", {})
        documented = body.get("schema", {})
        if documented.get("$ref") == _VALIDATION:
            body["schema"] = ERROR_BODY
            answer["description"] = "An invalid request; the error names what is wrong."
        elif documented != ERROR_BODY:
            # A route's own 422 body (a strict load's result); a request
            # FastAPI refuses before the route runs gets the usual error.
            body["schema"] = {"anyOf": [documented, ERROR_BODY]}


#: The answers of every route that needs the API key (``deps.Mutating``).
_KEYED_ANSWERS = {
    "401": "A missing or wrong `X-API-Key` (when `STOREMON_API_KEY` is set).",
    "429": "More changes from this client than `STOREMON_RATE_LIMIT`; see Retry-After.",
}


_UNREADABLE = "A body that cannot be read (malformed JSON, multipart or gzip)."


def _keyed_and_body_answers(schema: dict[str, Any]) -> None:
    for operation in _operations(schema):
        answers = dict(_KEYED_ANSWERS) if operation.get("security") else {}
        if "requestBody" in operation:
            answers["400"] = _UNREADABLE
        for status, description in answers.items():
            operation["responses"].setdefault(status, _error_answer(description))


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_BODY}}}


def _links(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for method, path, value, targets in LINKS:
        answer = paths[path][method]["responses"]["200"]
        links = answer.setdefault("links", {})
        for name, target_method, target_path, parameter in targets:
            links[name] = {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": {parameter: value},
            }


def _unused_validation_schemas(schema: dict[str, Any]) -> None:
    schemas = schema.get("components", {}).get("schemas", {})
    text = repr(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in text and name in schemas:
            nested = repr({k: v for k, v in schemas.items() if k != name})
            if f"#/components/schemas/{name}'" not in nested:
                del schemas[name]
