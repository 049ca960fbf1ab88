"""The ERPNext-style opportunity surface at /api/crm/ (§9, seed 004): a second API over
the same opportunities, in ERPNext's field names and Stripe's envelopes."""
