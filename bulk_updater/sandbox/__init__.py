"""A local LeadSquared stand-in (aiohttp.web) for the demo, the tests and the benchmarks."""

from .server import SandboxConfig, SandboxState, SandboxThread, build_app

__all__ = ["SandboxConfig", "SandboxState", "SandboxThread", "build_app"]
