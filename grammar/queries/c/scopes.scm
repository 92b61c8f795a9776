; Scopes that can enclose a cursor: @scope.<kind> on the scope, @name and @body where they exist.
(function_definition declarator: (function_declarator declarator: (identifier) @name) body: (compound_statement) @body) @scope.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)) body: (compound_statement) @body) @scope.function
(function_definition declarator: (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))) body: (compound_statement) @body) @scope.function
(function_definition body: (compound_statement) @body) @scope.function
(struct_specifier body: (field_declaration_list) @body) @scope.class
(union_specifier body: (field_declaration_list) @body) @scope.class
(enum_specifier body: (enumerator_list) @body) @scope.class
(if_statement consequence: (compound_statement) @body) @scope.block
(else_clause (compound_statement) @body) @scope.block
(for_statement body: (compound_statement) @body) @scope.block
(while_statement body: (compound_statement) @body) @scope.block
(do_statement body: (compound_statement) @body) @scope.block
(switch_statement body: (compound_statement) @body) @scope.block
(case_statement) @scope.block
(compound_statement) @scope.block
(initializer_list) @scope.other
