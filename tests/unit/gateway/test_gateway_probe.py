"""The gateway's probe refuses private addresses when told to, before sending anything."""

from __future__ import annotations

import aiohttp

from seqpulse.gateway.probe import EndpointProbe


async def test_private_endpoints_are_refused_when_not_allowed() -> None:
    async with aiohttp.ClientSession() as session:
        probe = EndpointProbe(session, timeout=1.0, allow_private=False)
        for url in ("http://127.0.0.1:9/metrics", "http://10.1.2.3/metrics", "http://[::1]:9/m"):
            outcome = await probe.probe(url, secret=None, project_id="p")
            assert not outcome.ok
            assert outcome.reason == "endpoint resolves to a private or loopback address"


async def test_an_unreachable_endpoint_is_a_reason_not_an_exception() -> None:
    async with aiohttp.ClientSession() as session:
        probe = EndpointProbe(session, timeout=1.0, allow_private=True)
        outcome = await probe.probe("http://127.0.0.1:9/metrics", secret="spm_x", project_id="p")
    assert not outcome.ok and not outcome.rejected
    assert outcome.reason.startswith("connection failed")
