; Scopes that can enclose a cursor: @scope.<kind> on the scope, @name and @body where they exist.
(function_definition name: (identifier) @name body: (block) @body) @scope.function
(class_definition name: (identifier) @name body: (block) @body) @scope.class
(lambda) @scope.function
(if_statement consequence: (block) @body) @scope.block
(elif_clause consequence: (block) @body) @scope.block
(else_clause body: (block) @body) @scope.block
(for_statement body: (block) @body) @scope.block
(while_statement body: (block) @body) @scope.block
(try_statement body: (block) @body) @scope.block
(except_clause (block) @body) @scope.block
(finally_clause (block) @body) @scope.block
(with_statement body: (block) @body) @scope.block
(match_statement body: (block) @body) @scope.block
(case_clause consequence: (block) @body) @scope.block
