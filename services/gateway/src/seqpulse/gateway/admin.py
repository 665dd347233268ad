"""`seqpulse-admin`: create users and personal access tokens; importable too (`make run`, tests)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from seqpulse.common.config import CommonSettings
from seqpulse.common.db.pool import Pool, create_pool
from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import digest, hash_password, new_access_token
from seqpulse.gateway.product_events import user_signed_up

SCOPES = ("read", "write", "admin")
MIN_PASSWORD = 8


class AdminError(Exception):
    """A command that cannot be carried out, with a message for the operator."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: uuid.UUID
    token: str
    prefix: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


async def create_user(
    pool: Pool,
    *,
    email: str,
    name: str,
    password: str | None,
    is_admin: bool = False,
    settings: CommonSettings | None = None,
) -> uuid.UUID:
    """A user with an argon2id password hash (None: token-only account); refuses a taken email.

    With `settings` (the CLI), the `user_signup` event (method `admin`) is written to the gateway's outbox
    in the transaction that creates the user, so the Founder View counts the account; without them
    (fixtures, benchmarks, the demo's seeded accounts) no event is written.
    """
    email = email.strip()
    if "@" not in email or not name.strip():
        raise AdminError("an email address and a name are required")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AdminError(f"the password must have at least {MIN_PASSWORD} characters")
    password_hash = hash_password(password) if password is not None else None
    async with pool.acquire() as conn, conn.transaction():
        if await repo.user_by_email(conn, email) is not None:
            raise AdminError(f"a user with email {email} already exists")
        try:
            user_id = await repo.insert_user(
                conn, email=email, name=name.strip(), password_hash=password_hash, is_admin=is_admin
            )
        except asyncpg.UniqueViolationError:  # taken between the check and the insert (a sign-up)
            raise AdminError(f"a user with email {email} already exists") from None
        if settings is not None:
            await user_signed_up(conn, settings, user_id, method="admin", country=None)
    return user_id


async def create_token(
    pool: repo.Conn, *, email: str, name: str, scopes: Sequence[str], expires_at: datetime | None = None
) -> IssuedToken:
    """A personal access token for the user `email`; the plain token exists only in the return value."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise AdminError(f"scopes must be among {', '.join(SCOPES)} (got {', '.join(unknown) or 'none'})")
    user = await repo.user_by_email(pool, email.strip())
    if user is None:
        raise AdminError(f"no user with email {email}")
    token, prefix = new_access_token()
    ordered = tuple(dict.fromkeys(scopes))
    row = await repo.insert_access_token(
        pool,
        user_id=user["id"],
        name=name,
        prefix=prefix,
        token_hash=digest(token),
        scopes=list(ordered),
        expires_at=expires_at,
    )
    return IssuedToken(id=row["id"], token=token, prefix=prefix, scopes=ordered, expires_at=expires_at)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqpulse-admin", description="SeqPulse accounts; uses DATABASE_URL."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    user = commands.add_parser("create-user", help="create a user")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--password", help="prompted for when omitted (prefer the prompt: argv is visible)")
    user.add_argument("--admin", action="store_true", help="the user sees every project")
    token = commands.add_parser("create-token", help="create a personal access token (printed once)")
    token.add_argument("--email", required=True)
    token.add_argument("--name", required=True)
    token.add_argument("--scope", action="append", choices=SCOPES, required=True, dest="scopes")
    token.add_argument("--json", action="store_true", help="print a JSON object instead of the bare token")
    return parser


def _prompt_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise AdminError("the passwords differ")
    return first


async def _run(args: argparse.Namespace) -> str:
    settings = CommonSettings()
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if args.command == "create-user":
            password = args.password if args.password is not None else _prompt_password()
            user_id = await create_user(
                pool,
                email=args.email,
                name=args.name,
                password=password,
                is_admin=args.admin,
                settings=settings,
            )
            return f"created user {user_id} ({args.email})"
        issued = await create_token(pool, email=args.email, name=args.name, scopes=args.scopes)
        if args.json:
            return orjson.dumps(
                {
                    "id": str(issued.id),
                    "token": issued.token,
                    "prefix": issued.prefix,
                    "scopes": list(issued.scopes),
                }
            ).decode()
        return issued.token
    finally:
        await pool.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        print(asyncio.run(_run(args)))
    except AdminError as exc:
        print(f"seqpulse-admin: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
