"""updates -> calls: the HTTP calls, their classification, pacing and the retry policy (policy.py)."""

from .client import CallResult, Kind, LeadSquaredClient, classify_response, open_session, tls_context
from .limiter import WindowLimiter, account_limiter
from .policy import Action, Backoff, Decision, Retrying, RetryPolicy, Tries, call_until_decided

__all__ = [
    "Action", "Backoff", "Decision", "RetryPolicy", "Retrying", "Tries", "call_until_decided",
    "CallResult", "Kind", "LeadSquaredClient", "WindowLimiter", "account_limiter", "classify_response", "open_session", "tls_context",
]
