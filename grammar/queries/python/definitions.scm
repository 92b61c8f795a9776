; Definitions a reference can resolve to (@definition.<kind> with @name, @body for the part the
; signature leaves out), and names local to a function (@local.parameter, @local.variable).
(function_definition name: (identifier) @name body: (block) @body) @definition.function
(class_definition name: (identifier) @name body: (block) @body) @definition.class
(module (expression_statement (assignment left: (identifier) @name) @definition.variable))
(class_definition body: (block (expression_statement (assignment left: (identifier) @name) @definition.field)))
(type_alias_statement left: (type (identifier) @name)) @definition.type

(parameters (identifier) @local.parameter)
(parameters (typed_parameter (identifier) @local.parameter))
(parameters (default_parameter name: (identifier) @local.parameter))
(parameters (typed_default_parameter name: (identifier) @local.parameter))
(parameters (list_splat_pattern (identifier) @local.parameter))
(parameters (dictionary_splat_pattern (identifier) @local.parameter))
(lambda_parameters (identifier) @local.parameter)
(assignment left: (identifier) @local.variable)
(assignment left: (pattern_list (identifier) @local.variable))
(augmented_assignment left: (identifier) @local.variable)
(for_statement left: (identifier) @local.variable)
(for_statement left: (pattern_list (identifier) @local.variable))
(with_item value: (as_pattern alias: (as_pattern_target (identifier) @local.variable)))
(function_definition name: (identifier) @local.function)
(class_definition name: (identifier) @local.class)
