; Calls: the callee (@call.function) and the parenthesised arguments (@call.arguments).
(call function: (_) @call.function arguments: (argument_list) @call.arguments) @call
(decorator (call function: (_) @call.function arguments: (argument_list) @call.arguments) @call)
