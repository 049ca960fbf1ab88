"""Errors of the documents domain."""

from __future__ import annotations

from crm.core.errors import ValidationFailed


class DocumentTitleTaken(ValidationFailed):
    code = "document_title_taken"
    default_message = "Document already exists with this title"

    def __init__(self) -> None:
        super().__init__(field_errors={"title": [self.default_message]})


class DocumentFileMissing(ValidationFailed):
    code = "document_file_missing"
    default_message = "Upload the file as document_file"

    def __init__(self) -> None:
        super().__init__(field_errors={"document_file": [self.default_message]})


class EmptyDocument(ValidationFailed):
    code = "empty_document"
    default_message = "The submitted file is empty"

    def __init__(self) -> None:
        super().__init__(field_errors={"document_file": [self.default_message]})
