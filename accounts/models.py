from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .validators import validate_user_id


class Cardholder(models.Model):
    """The issuer's record of a person. It exists before online enrollment (it came with
    the card application); ``User.cardholder`` links it once the person enrolls."""

    legal_name = models.CharField(max_length=120)
    name_on_card = models.CharField(max_length=26)
    date_of_birth = models.DateField()
    postal_code = models.CharField(max_length=10)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +12025550123")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(Lower("legal_name"), name="cardholder_name_idx")]

    def __str__(self) -> str:
        return self.legal_name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # User IDs are unique case-insensitively: "JSmith01" and "jsmith01" are one login.
        return self.get(username__iexact=username)

    def create_user(self, username, password=None, **extra):
        validate_user_id(username)
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An online login. ``username`` is the cardholder's User ID, stored as typed."""

    username = models.CharField(
        "User ID",
        max_length=20,
        unique=True,
        validators=[validate_user_id],
        help_text="6 to 20 characters: letters, numbers, dots, hyphens or underscores.",
    )
    cardholder = models.OneToOneField(Cardholder, null=True, blank=True, on_delete=models.PROTECT, related_name="user")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    display_name = models.CharField(max_length=120, blank=True)
    username_changed_at = models.DateTimeField(null=True, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    def get_full_name(self) -> str:
        if self.cardholder_id:
            return self.cardholder.legal_name
        return self.display_name or self.username

    def get_short_name(self) -> str:
        return self.get_full_name().split(" ")[0]


class PasswordHistory(models.Model):
    """Hashes of a user's recent passwords, so a new one cannot repeat the last four
    (PCI DSS 8.3.7). Only hashes, made by the same hasher as the live password."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "password history"
        indexes = [models.Index(fields=["user", "-created_at"], name="pwhistory_user_date_idx")]

    def __str__(self) -> str:
        return f"Password of {self.user_id} set {self.created_at:%Y-%m-%d}"
