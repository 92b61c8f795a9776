; Names used in code: what definitions are looked up for.
(identifier) @reference
(type_identifier) @reference
(member_expression property: (property_identifier) @reference.member)
