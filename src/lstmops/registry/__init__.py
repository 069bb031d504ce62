"""Which version of a model serves, and why. The promotion rule alone (`rule`), registered versions
(`versions`), the gate that registers, re-evaluates and decides (`gate`), alias moves and rollback
(`aliases`), the audit trail (`audit`), the locks that serialise them (`locks`), and what a person
reads: model cards and history (`report`), the review report (`review`)."""
