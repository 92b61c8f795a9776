; Import statements (@import) and the names they bind (@import.name).
(import_statement (import_clause (identifier) @import.name)) @import
(import_statement (import_clause (named_imports (import_specifier name: (identifier) @import.name .)))) @import
(import_statement (import_clause (named_imports (import_specifier alias: (identifier) @import.name)))) @import
(import_statement (import_clause (namespace_import (identifier) @import.name))) @import
(import_statement) @import
(program (lexical_declaration (variable_declarator name: (identifier) @import.name value: (call_expression function: (identifier) @_req (#eq? @_req "require")))) @import)
(program (lexical_declaration (variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @import.name) value: (call_expression function: (identifier) @_req (#eq? @_req "require")))) @import)
