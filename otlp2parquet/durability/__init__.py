"""The spool that makes an accepted request durable, and pending catalog receipts."""
