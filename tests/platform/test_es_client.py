"""The Elasticsearch client decodes answers with orjson and sends the bulk bodies we build as they are; what orjson
refuses (a lone surrogate, escaped in a hostile event's ``_source``) still comes back exactly as stored."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings

from soc import es as soc_es


def test_a_lone_surrogate_in_a_stored_document_comes_back_from_a_search(es: Any) -> None:
    index = f"{settings.ES_INDEX_PREFIX}client-check"
    hostile = "name \ud800 <script>"
    body = (json.dumps({"create": {"_index": index, "_id": "1"}}) + "\n"
            + json.dumps({"message": hostile}) + "\n").encode()
    assert es.bulk(operations=body, refresh=True)["errors"] is False
    source = es.search(index=index)["hits"]["hits"][0]["_source"]
    assert source == {"message": hostile}


def test_the_async_client_reads_the_same(es: Any) -> None:
    index = f"{settings.ES_INDEX_PREFIX}client-check"
    es.index(index=index, id="1", document={"message": "\udfff"}, refresh=True)

    async def read() -> Any:
        return (await soc_es.async_client().get(index=index, id="1"))["_source"]

    assert asyncio.run(read()) == {"message": "\udfff"}


def test_a_bulk_body_we_built_is_sent_without_a_copy() -> None:
    serializers = soc_es.client().transport.serializers
    body = b'{"create":{"_index":"x","_id":"1"}}\n{"a":1}\n'
    for mimetype in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
        assert serializers.get_serializer(mimetype).dumps(body) is body
        # Anything else is the client's own NDJSON: a body without its final newline gets one, objects are encoded.
        assert serializers.get_serializer(mimetype).dumps(body[:-1]) == body
        assert serializers.get_serializer(mimetype).dumps([{"a": 1}]) == b'{"a":1}\n'
