"""Domain errors: what went wrong, in words for the person who asked, with no HTTP in them.

Services raise these; one exception handler (core.envelope.exception_handler) gives each kind its
status for the API, and the admin and management commands catch `DomainError` and show the same
message as it is.
"""


class DomainError(Exception):
    """A business rule said no. `message` is for people; `details` for programs."""

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Rejected(DomainError):
    """What was sent cannot be used as it is (not a photo, a price no longer sold, too many photos)."""


class NotFound(DomainError):
    """What was asked for does not exist."""


class Conflict(DomainError):
    """The thing is not in a state that allows this (already done, already refunded)."""


class Invalid(DomainError):
    """The request breaks a rule (an amount over what is left, a missing reason)."""


class Unauthenticated(DomainError):
    """The caller did not say who it is, or said it wrongly. `challenge` tells it how to (a kiosk
    key: `Bearer realm="photobox"`)."""

    def __init__(self, message: str, *, challenge: str, details: dict | None = None) -> None:
        super().__init__(message, details=details)
        self.challenge = challenge


class Forbidden(DomainError):
    """The caller is known but may not do this (a kiosk key used for another location)."""


class TooLarge(DomainError):
    """What was sent is larger than anything that could be accepted."""


class TooMany(DomainError):
    """The caller tried too often (wrong activation codes); `retry_after` seconds is when it may try again.
    Said the way every rate limit says it: `Too many requests`, with `retry_after` in the details."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__("Too many requests", details={"retry_after": retry_after})
        self.retry_after = retry_after


class Refused(DomainError):
    """An outside service (Xendit, the photo storage) answered and did not do it: asking again the
    same way will not help."""


class Unavailable(DomainError):
    """An outside service could not be asked now; `retry_after` seconds is when to try again."""

    def __init__(self, message: str, *, details: dict | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
