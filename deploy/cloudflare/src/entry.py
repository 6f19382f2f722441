"""The Cloudflare Python Worker entry: thin classes over otlp2parquet's Cloudflare adapter.

``Default`` serves OTLP/HTTP (``fetch``), syncs pending receipts into the catalog on the cron
trigger (``scheduled``) and takes the batcher's written files over service-binding RPC
(``record_receipts``, called through the ``SELF`` binding). ``OtlpBatcher`` is the optional
batching Durable Object. The logic lives in ``otlp2parquet.plugins.platform_cloudflare``.
"""

from otlp2parquet.plugins.platform_cloudflare import handlers
from workers import DurableObject, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await handlers.fetch(self.env, request)

    async def scheduled(self, controller, env=None, ctx=None):
        await handlers.scheduled(self.env)

    async def record_receipts(self, payload):
        return await handlers.record_receipts(self.env, payload)


class OtlpBatcher(DurableObject):
    def __init__(self, ctx, env):
        self.ctx = ctx
        self.env = env
        self.batcher = handlers.Batcher(ctx, env)

    async def fetch(self, request):
        return await self.batcher.fetch(request)

    async def alarm(self, alarm_info=None):
        await self.batcher.alarm()
