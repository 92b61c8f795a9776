; Names used in code: what definitions are looked up for.
(identifier) @reference
(member_expression property: (property_identifier) @reference.member)
(jsx_opening_element name: (identifier) @reference)
(jsx_self_closing_element name: (identifier) @reference)
