"""The family's pages: household members and upcoming bookings."""
