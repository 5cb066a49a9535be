"""Domain errors: what went wrong, in words for the person who asked, with no HTTP in them.

Services raise these; one exception handler (core.envelope.exception_handler) gives each kind its
status for the API, and the admin and management commands show the same message as it is.
"""


class DomainError(Exception):
    """A business rule said no. `message` is for people; `details` for programs."""

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    """What was asked for does not exist."""


class Conflict(DomainError):
    """The thing is not in a state that allows this (already done, already refunded)."""


class Invalid(DomainError):
    """The request breaks a rule (an amount over what is left, a missing reason)."""


class Refused(DomainError):
    """An outside service (Xendit) answered and said no: asking again the same way will not help."""


class Unavailable(DomainError):
    """An outside service could not be asked now; `retry_after` seconds is when to try again."""

    def __init__(self, message: str, *, details: dict | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
