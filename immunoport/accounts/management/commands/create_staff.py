"""Create a staff account that can sign in at once: approved, e-mail confirmed."""

import getpass

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from immunoport.accounts.models import Profile


class Command(BaseCommand):
    help = (
        "Create a staff account (approved, e-mail confirmed, in the Staff group). "
        "The password is asked for twice. It must enrol a second factor at first sign-in."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--organization", default="Repository staff")
        parser.add_argument("--superuser", action="store_true", help="also grant every permission")

    def handle(self, username: str, email: str, organization: str, superuser: bool, **_) -> None:
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ; nothing was created.")
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        with transaction.atomic():
            user = User.objects.create_user(
                username, email=email, password=password, is_staff=True, is_superuser=superuser
            )
            user.groups.add(Group.objects.get(name="Staff"))
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            Profile.objects.create(
                user=user,
                organization=organization,
                status=Profile.Status.APPROVED,
                decided_at=timezone.now(),
            )
        self.stdout.write(f"Staff account {username!r} created.")
