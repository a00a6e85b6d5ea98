"""Records every AWS call (and pre-signed URL) the code makes, per function, through botocore's events.

Every botocore client created while the recorder is installed gets two handlers: ``provide-client-params``
(fired for API calls and for ``generate_presigned_url`` alike) notes the call's parameters, and
``after-call`` adds the response's status and error code. Calls are attributed to the function whose code
is running (:meth:`Recorder.acting_as`, set by whoever invokes a handler), never to the module that made
them, so moving shared code between modules changes nothing here. Calls made while no function is acting
(setting up moto, reading results back) are not recorded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session

from infra.iam import Call

_DROPPED = {"Body", "Content"}  # payloads: large, and not what IAM looks at (SES keeps a marker)


def _in_managed_transfer() -> bool:
    """True when boto3's transfer manager (upload_file / download_file) made the call: it switches to a
    multipart upload for large files and aborts it on failure."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(("s3transfer", "boto3.s3.transfer")):
            return True
        frame = frame.f_back
    return False


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.acting: str | None = None
        #: Called with each recorded call and the parsed response (the Athena bridge uses it).
        self.listeners: list[Callable[[Call, dict[str, Any]], None]] = []
        self._original: Any = None

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        """Attribute the calls made inside the block to ``function`` (a logical id of template.yaml).

        A plain attribute, not a context variable: boto3's transfer manager uploads from worker threads.
        """
        previous, self.acting = self.acting, function
        try:
            yield
        finally:
            self.acting = previous

    def install(self) -> None:
        original = botocore.session.Session.create_client
        self._original = original
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params.*.*", recorder._on_params)
            client.meta.events.register("after-call.*.*", recorder._on_response)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def _on_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.acting is None:
            return
        kept = {k: v for k, v in params.items() if k not in _DROPPED}
        if "Content" in params:
            kept["Content"] = dict.fromkeys(params["Content"], "<dropped>")
        call = Call(
            function=self.acting,
            service=model.service_model.service_name,
            operation=model.name,
            params=kept,
            presigned=bool(context.get("is_presign_request")),
            managed_transfer=_in_managed_transfer(),
        )
        if call.presigned:
            self.calls.append(Call(**{**call.__dict__, "status": 0}))
        else:
            context["contactlake_iam_call"] = call

    def _on_response(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        pending: Call | None = context.pop("contactlake_iam_call", None)
        if pending is None:
            return
        error = str(parsed.get("Error", {}).get("Code", "")) if isinstance(parsed, dict) else ""
        call = Call(**{**pending.__dict__, "status": int(http_response.status_code), "error": error})
        if call.service == "athena" and call.operation == "StartQueryExecution":
            call = Call(**{**call.__dict__, "result_id": str(parsed.get("QueryExecutionId", ""))})
        self.calls.append(call)
        for listener in self.listeners:
            listener(call, parsed)
