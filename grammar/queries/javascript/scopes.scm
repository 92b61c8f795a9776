; Scopes that can enclose a cursor: @scope.<kind> on the scope, @name and @body where they exist.
(function_declaration name: (identifier) @name body: (statement_block) @body) @scope.function
(generator_function_declaration name: (identifier) @name body: (statement_block) @body) @scope.function
(function_expression body: (statement_block) @body) @scope.function
(arrow_function body: (statement_block) @body) @scope.function
(method_definition name: (_) @name body: (statement_block) @body) @scope.function
(class_declaration name: (identifier) @name body: (class_body) @body) @scope.class
(class body: (class_body) @body) @scope.class
(if_statement consequence: (statement_block) @body) @scope.block
(else_clause (statement_block) @body) @scope.block
(for_statement body: (statement_block) @body) @scope.block
(for_in_statement body: (statement_block) @body) @scope.block
(while_statement body: (statement_block) @body) @scope.block
(do_statement body: (statement_block) @body) @scope.block
(try_statement body: (statement_block) @body) @scope.block
(catch_clause body: (statement_block) @body) @scope.block
(finally_clause body: (statement_block) @body) @scope.block
(switch_statement body: (switch_body) @body) @scope.block
(object) @scope.other
