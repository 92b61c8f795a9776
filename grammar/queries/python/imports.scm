; Import statements (@import) and the names they bind (@import.name).
(import_statement name: (dotted_name (identifier) @import.name .)) @import
(import_statement name: (aliased_import alias: (identifier) @import.name)) @import
(import_from_statement name: (dotted_name (identifier) @import.name .)) @import
(import_from_statement name: (aliased_import alias: (identifier) @import.name)) @import
(import_from_statement (wildcard_import)) @import
(future_import_statement) @import
