; Calls: the callee (@call.function) and the parenthesised arguments (@call.arguments).
(call_expression function: (_) @call.function arguments: (argument_list) @call.arguments) @call
