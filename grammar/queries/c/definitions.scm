; Definitions a reference can resolve to (@definition.<kind> with @name, @body for the part the
; signature leaves out), and names local to a function (@local.parameter, @local.variable).
(function_definition declarator: (function_declarator declarator: (identifier) @name) body: (compound_statement) @body) @definition.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)) body: (compound_statement) @body) @definition.function
(function_definition declarator: (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) body: (compound_statement) @body) @definition.function
(declaration declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(declaration declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) @definition.function
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.class
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.class
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.class
(enum_specifier body: (enumerator_list (enumerator name: (identifier) @name))) @definition.variable
(type_definition declarator: (type_identifier) @name) @definition.type
(type_definition declarator: (pointer_declarator declarator: (type_identifier) @name)) @definition.type
(type_definition declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))) @definition.type
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
(translation_unit (declaration declarator: (init_declarator declarator: (identifier) @name)) @definition.variable)
(translation_unit (declaration declarator: (identifier) @name) @definition.variable)
(translation_unit (declaration declarator: (array_declarator declarator: (identifier) @name)) @definition.variable)
(translation_unit (declaration declarator: (init_declarator declarator: (array_declarator declarator: (identifier) @name))) @definition.variable)
(translation_unit (declaration declarator: (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))) @definition.variable)
(preproc_ifdef (declaration declarator: (init_declarator declarator: (identifier) @name)) @definition.variable)
(preproc_ifdef (declaration declarator: (identifier) @name) @definition.variable)
(preproc_ifdef (declaration declarator: (array_declarator declarator: (identifier) @name)) @definition.variable)
(preproc_ifdef (declaration declarator: (init_declarator declarator: (array_declarator declarator: (identifier) @name))) @definition.variable)
(preproc_ifdef (declaration declarator: (init_declarator declarator: (pointer_declarator declarator: (identifier) @name))) @definition.variable)
(field_declaration declarator: (field_identifier) @name) @definition.field

(parameter_declaration declarator: (identifier) @local.parameter)
(parameter_declaration declarator: (pointer_declarator declarator: (identifier) @local.parameter))
(parameter_declaration declarator: (pointer_declarator declarator: (pointer_declarator declarator: (identifier) @local.parameter)))
(parameter_declaration declarator: (array_declarator declarator: (identifier) @local.parameter))
(declaration declarator: (identifier) @local.variable)
(declaration declarator: (init_declarator declarator: (identifier) @local.variable))
(declaration declarator: (init_declarator declarator: (pointer_declarator declarator: (identifier) @local.variable)))
(declaration declarator: (pointer_declarator declarator: (identifier) @local.variable))
(declaration declarator: (array_declarator declarator: (identifier) @local.variable))
(declaration declarator: (init_declarator declarator: (array_declarator declarator: (identifier) @local.variable)))
(for_statement initializer: (declaration declarator: (init_declarator declarator: (identifier) @local.variable)))
