; Definitions a reference can resolve to (@definition.<kind> with @name, @body for the part the
; signature leaves out), and names local to a function (@local.parameter, @local.variable).
(function_declaration name: (identifier) @name body: (statement_block) @body) @definition.function
(generator_function_declaration name: (identifier) @name body: (statement_block) @body) @definition.function
(method_definition name: (property_identifier) @name body: (statement_block) @body) @definition.function
(class_declaration name: (identifier) @name body: (class_body) @body) @definition.class
(program (lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)])) @definition.function)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)])) @definition.function))
(program (lexical_declaration (variable_declarator name: (identifier) @name value: (class body: (class_body) @body))) @definition.class)
(program (lexical_declaration (variable_declarator name: (identifier) @name value: (_)? @value)) @definition.variable)
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name value: (_)? @value)) @definition.variable))
(program (variable_declaration (variable_declarator name: (identifier) @name)) @definition.variable)
(field_definition property: (property_identifier) @name) @definition.field

(formal_parameters (identifier) @local.parameter)
(formal_parameters (assignment_pattern left: (identifier) @local.parameter))
(formal_parameters (rest_pattern (identifier) @local.parameter))
(formal_parameters (object_pattern (shorthand_property_identifier_pattern) @local.parameter))
(arrow_function parameter: (identifier) @local.parameter)
(catch_clause parameter: (identifier) @local.parameter)
(variable_declarator name: (identifier) @local.variable)
(variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @local.variable))
(variable_declarator name: (array_pattern (identifier) @local.variable))
(function_declaration name: (identifier) @local.function)
(class_declaration name: (identifier) @local.class)
(for_in_statement left: (identifier) @local.variable)
(for_in_statement left: (object_pattern (shorthand_property_identifier_pattern) @local.variable))
(for_in_statement left: (array_pattern (identifier) @local.variable))
