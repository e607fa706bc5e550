"""requests -> calls: the HTTP calls, their classification, pacing and retry timing."""

from .client import CallResult, Kind, LeadSquaredClient, classify_response, open_session, tls_context
from .limiter import WindowLimiter
from .retry import Backoff

__all__ = ["Backoff", "CallResult", "Kind", "LeadSquaredClient", "WindowLimiter", "classify_response", "open_session", "tls_context"]
