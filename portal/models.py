from django.db import models


class ImmutableRowError(Exception):
    """Raised when code tries to change or delete a row that is a permanent record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError(f"{self.model.__name__} rows are append-only")

    def delete(self):
        raise ImmutableRowError(f"{self.model.__name__} rows are append-only")


class AppendOnlyModel(models.Model):
    """A permanent record (ledger entries, the audit trail): inserted once, never changed.

    This is a guard against mistakes in our own code; the admin is read-only for these
    models too. It is not a business rule, so it lives here rather than in a service.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(f"{type(self).__name__} rows are append-only")
