; Names used in code: what definitions are looked up for.
(identifier) @reference
(type_identifier) @reference
(field_expression field: (field_identifier) @reference.member)
