; Names used in code: what definitions are looked up for.
(identifier) @reference
(attribute attribute: (identifier) @reference.member)
