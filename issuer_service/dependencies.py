"""FastAPI dependencies shared by every router: the request's database session and the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from issuer_service.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """One session and one commit per request; any exception rolls everything back.

    Used with scope="function" (see SessionDep) so the commit happens *before* the response is
    sent: a client never sees 201 for a write that then failed to commit.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Always depend on the session through this alias: FastAPI caches a dependency per request only
# when it is declared the same way, and auth and the endpoint must share one transaction.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
