; #include lines (@import); the path is kept as written.
(preproc_include) @import
