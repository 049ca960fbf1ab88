"""Errors of the activity domain (comments and attachments)."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class NothingToAdd(ValidationFailed):
    code = "comment_or_attachment_required"
    default_message = "Send a comment, an attachment, or both"


class EmptyAttachment(ValidationFailed):
    code = "empty_attachment"
    default_message = "The submitted file is empty"

    def __init__(self, field: str) -> None:
        super().__init__(field_errors={field: [self.default_message]})


class UnexpectedFileField(ValidationFailed):
    code = "unexpected_file_field"

    def __init__(self, field: str, accepted: tuple[str, ...]) -> None:
        message = f"Send the file as {' or '.join(accepted)}"
        super().__init__(message, field_errors={field: [message]})


class CommentNotText(ValidationFailed):
    code = "invalid"
    default_message = "The comment must be text, not a file"

    def __init__(self) -> None:
        super().__init__(field_errors={"comment": [self.default_message]})
