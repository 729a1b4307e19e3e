"""One seeding module per service, mirroring ``remediators/services/``."""
